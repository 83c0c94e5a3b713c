"""Kyoto Declaration implementation tracker and good-practice library.

Member States report on the Declaration's commitments through the Commission's
thematic discussions; the tracker keeps their submissions, good practices and
progress indicators, makes them searchable, and helps tag new texts.
"""
