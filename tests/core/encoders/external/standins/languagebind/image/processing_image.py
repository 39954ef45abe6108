from languagebind._standin import get_image_transform  # noqa: F401
