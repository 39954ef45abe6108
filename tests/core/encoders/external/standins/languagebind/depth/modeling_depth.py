from languagebind._standin import LanguageBindDepth  # noqa: F401
