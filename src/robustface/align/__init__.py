"""Face detection, 68-point landmarks and similarity alignment to the ArcFace template."""
