from languagebind._standin import LanguageBindThermal  # noqa: F401
