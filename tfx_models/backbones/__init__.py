"""Towers (CNN-M-2048, keras.applications, S3D-G), inflation to 3D, tower surgery and weight copying."""
