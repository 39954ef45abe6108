from languagebind._standin import LanguageBindImage  # noqa: F401 - the module path languagebind's code imports
