"""The device mesh: the batch is sharded over a 'data' axis, the state replicated."""

import jax
import numpy as np
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

DATA_AXIS = 'data'


def make_mesh(devices=None) -> Mesh:
    """A 1-D mesh over ``devices`` (default: all devices) with the batch axis 'data'."""
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), (DATA_AXIS,))


def constrain_to_data_axis(x: jax.Array) -> jax.Array:
    """Shards ``x``'s leading (batch) axis over the mesh's data axis, if there is one."""
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or DATA_AXIS not in mesh.axis_names:
        return x
    return jax.lax.with_sharding_constraint(x, P(DATA_AXIS))
