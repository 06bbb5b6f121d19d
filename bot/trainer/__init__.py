"""The trainer workflow: NLU inbox, labelling into data/nlu, data checks, evaluation, retrain and hot reload."""
