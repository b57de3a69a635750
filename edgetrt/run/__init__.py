"""The run pipeline shared by `deploy` and `bench`: plan the cells, execute them on each device,
compare predictions with native TensorFlow."""
