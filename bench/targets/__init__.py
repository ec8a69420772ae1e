"""Target: which page, which protocol, how to inject; the bundled app it starts."""
