"""Paper plugins: one package per replicated paper, built on pybrms's generic layers.

Each registers a :class:`pybrms.plugins.Plugin` (entry-point group ``pybrms.plugins``); nothing
outside its own package imports it.
"""
