"""Face verification evaluation: pair lists, the 10-fold LFW protocol, conditions, figures."""
