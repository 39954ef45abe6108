from languagebind._standin import LanguageBindThermal  # noqa: F401 - the module path languagebind's code imports
