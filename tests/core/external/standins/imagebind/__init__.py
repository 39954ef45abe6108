"""Stand-in for the imagebind package (tests only): the names the script uses."""
