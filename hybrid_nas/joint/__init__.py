"""Hybrid models: a classical front-end, a circuit and a readout head, trained as one and searched jointly."""
