"""UniBind's method: embedding centres, nearest-neighbour search, split protocols, the aligners and their
training loop."""
