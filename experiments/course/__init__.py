"""This journal's own code, shared by its three labs: the datasets (loaders named in journal.yml),
the Austin shelter table and its features, the models, the training loop, scores and the autograd
drawing. The notebooks import it as `course` (journal.yml: `pythonpath: [experiments]`); nothing
in the engine knows about it.
"""
