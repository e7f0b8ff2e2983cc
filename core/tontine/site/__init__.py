"""Site-wide pages: home, language switcher, health."""
