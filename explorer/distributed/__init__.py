"""Ray engines for work one machine cannot do in time: the encoder in an actor pool (Ray Data) and
the all-pairs impostor pass as tasks over blocks of the pair matrix. Ray is an optional extra
(``pip install .[ray]``); nothing here imports it until an engine runs."""
