"""Are audio latent spaces easy to model autoregressively?

Modules:

- `latentlab.autoencoders`: The encoders latentlab trains itself: a mel autoencoder and a SEANet waveform codec, five bottlenecks, and a saved run that loads as an encoder like any other.
- `latentlab.experiment`: One config (TOML) names the latent spaces to compare and how to measure them; `run_experiment` builds each store, trains what must be trained, measures every row in every column, cell by cell and resumably, and writes a table, figures and the answers to the brief's questions, each sentence built from the table.
- `latentlab.pretrained`: Real, trained speech encoders whose weights ship inside registry packages: Whisper tiny.en, Google's speech_embedding, DeepFilterNet3 and the GE2E speaker encoder, each proven by a known answer."""

__version__ = "0.2.0"
