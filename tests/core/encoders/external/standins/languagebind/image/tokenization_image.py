from languagebind._standin import LanguageBindImageTokenizer  # noqa: F401 - the module path languagebind's code imports
