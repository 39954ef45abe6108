"""What every layer uses: settings and options, errors, the registry, progress, torch and numeric setup, code
versions, the modalities."""
