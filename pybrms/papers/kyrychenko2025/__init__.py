"""Kyrychenko et al. (2025), *Human Preferences for Constructive Interactions in Language Model
Alignment*, on the PRISM alignment dataset: a pybrms plugin.

Everything specific to the paper lives here: PRISM loading (:mod:`.prism`, :mod:`.download`),
attribute scoring (:mod:`.scoring`), the analysis frames (:mod:`.frames`), the calibrated
simulator (:mod:`.simulate`), the published Tables 2-4 (:mod:`.published`), the analysis specs
(``comparisons/*.toml``), the end-to-end replication (:mod:`.replicate`: ``pybrms replicate``)
and the sensitivity grid built from a spec (:mod:`.grid`: ``pybrms sensitivity --from``).
The plugin's registration is :data:`.plugin.PLUGIN`.
"""
