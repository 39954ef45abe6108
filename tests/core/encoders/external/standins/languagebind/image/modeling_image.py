from languagebind._standin import LanguageBindImage  # noqa: F401
