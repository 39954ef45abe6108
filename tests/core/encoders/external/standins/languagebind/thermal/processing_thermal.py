from languagebind._standin import get_image_transform as get_thermal_transform  # noqa: F401 - the module path languagebind's code imports
