"""Input formats: line reading with caps, gzip, byte ranges; JSON lines, CSV, text logs; flattening. Imports only telescrub.core and telescrub.classifiers."""
