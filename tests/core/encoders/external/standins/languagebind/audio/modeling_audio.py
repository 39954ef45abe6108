from languagebind._standin import LanguageBindAudio  # noqa: F401
