"""HEAR 2021 modules that ship with mdrbench, as examples of the plug-in contract and as baselines.

- :mod:`mdrbench.hear_modules.mel_statistics`: the mel-statistics baseline (per-band log-mel mean and
  standard deviation) as a HEAR module;
- :mod:`mdrbench.hear_modules.random_projection`: log-mel frames through a fixed random ReLU layer, averaged
  over time (random features: what an untrained network's width alone gives).

Score one: ``mdrbench score --hear-module mdrbench.hear_modules.random_projection --size ci``. An exported
mdrbench run (``mdrbench export-hear``) is a third kind of module.
"""
