from languagebind._standin import LanguageBindVideo  # noqa: F401
