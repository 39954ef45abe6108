from languagebind._standin import LanguageBindVideo  # noqa: F401 - the module path languagebind's code imports
