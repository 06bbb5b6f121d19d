"""The trainer workflow: NLU inbox, labelling into data/nlu, data checks, evaluation, retrain through the gate
(bin/retrain, the trainer page and bin/setup alike) and the model folder. It never imports the gateway: the gateway
calls it, and both read the transcript tables from bot.transcript."""
