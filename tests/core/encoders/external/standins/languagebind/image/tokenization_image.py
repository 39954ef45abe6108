from languagebind._standin import LanguageBindImageTokenizer  # noqa: F401
