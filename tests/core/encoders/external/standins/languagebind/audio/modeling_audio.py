from languagebind._standin import LanguageBindAudio  # noqa: F401 - the module path languagebind's code imports
