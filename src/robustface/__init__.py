"""robustface: face super-resolution and occlusion-robust face recognition study."""

__version__ = "0.1.0"
