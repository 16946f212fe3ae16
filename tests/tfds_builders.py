"""A TFDS builder the data tests prepare offline. It lives in a top-level module: TFDS
looks up a builder's files from its module, which it cannot do for a test module
inside a folder of tests."""

import numpy as np
import tensorflow_datasets as tfds


class IndexedMnistBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Writes a real 'mnist' data dir offline: example i is an image filled with i."""

    name = 'mnist'
    VERSION = tfds.builder_cls('mnist').VERSION
    NUM_EXAMPLES = 31

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict(
                {
                    'image': tfds.features.Image(shape=(28, 28, 1)),
                    'label': tfds.features.ClassLabel(num_classes=10),
                }
            ),
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        return {'train': self._generate_examples()}

    def _generate_examples(self):
        for i in range(self.NUM_EXAMPLES):
            yield i, {'image': np.full((28, 28, 1), i, np.uint8), 'label': i % 10}
