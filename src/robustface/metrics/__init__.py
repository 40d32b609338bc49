"""Super-resolution metrics: pixel fidelity (PSNR/SSIM on Y), LPIPS, identity similarity.

Stage modules: `stage` (sr-metrics), `aggregate` (aggregate-sr-metrics), `grid` (sr-grid).
"""
