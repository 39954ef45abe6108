"""Models that run in their own virtual environment, behind a file-exchanging Runner (runner.py).

envs.py declares the environments (pins, setup command, venv root); scripts/ holds what runs inside them;
lavis.py is the core entry point of the LAVIS captioner; the ImageBind and LanguageBind backbones live in
unibind_core/encoders/backbone/ like every other. Nothing here imports a model stack: that happens in the child.
"""
