"""Stand-in for the imagebind package (tests only): the names the script uses. The script does not run this
__init__ (the real one imports imagebind.data, hence pytorchvideo), so it fails if run."""

raise AssertionError("imagebind_embed.py must not run the imagebind package's __init__")
