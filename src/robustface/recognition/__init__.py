"""Face-recognition training: MobileFaceNet + ArcFace/CosFace heads, occlusion
augmentation, knowledge distillation and the occlusion-type adaptive module.

Entry points: `stage.main(argv)` (the `train` pipeline stage),
`embedder.load_trained_embedder(path)` (inference); its throughput benchmark is benchmarks/recognition_training.py.
"""
