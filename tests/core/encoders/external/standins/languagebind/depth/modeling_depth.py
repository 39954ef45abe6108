from languagebind._standin import LanguageBindDepth  # noqa: F401 - the module path languagebind's code imports
