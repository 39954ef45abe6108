"""Stand-in languagebind root: like the real one on torch 2.14 (its __init__ imports pytorchvideo, which needs
torchvision's functional_tensor), it cannot be imported; the script imports the modality submodules only."""

raise ImportError("the languagebind package root is not importable here (pytorchvideo); import its submodules")
