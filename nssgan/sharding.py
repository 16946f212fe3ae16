"""The device mesh: the batch is sharded over a 'data' axis, the state replicated."""

import jax
import numpy as np
from jax.experimental import mesh_utils
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

DATA_AXIS = 'data'


def make_mesh(devices=None) -> Mesh:
    """A 1-D mesh over ``devices`` (default: all devices) with the batch axis 'data'.

    The devices are in the order of the hardware's interconnect
    (``mesh_utils.create_device_mesh``: on TPU slices, neighbours on the torus), each
    process's devices kept together and the processes in order, so that a process's
    rows of a batch are one block of it.
    """
    devices = list(jax.devices() if devices is None else devices)
    try:
        ordered = list(mesh_utils.create_device_mesh((len(devices),), devices).flat)
    except (ValueError, NotImplementedError, AssertionError):  # Unknown topology.
        ordered = devices
    ordered.sort(key=lambda d: d.process_index)  # Stable: keeps the order within a host.
    return Mesh(np.asarray(ordered), (DATA_AXIS,))


def constrain_to_data_axis(x: jax.Array) -> jax.Array:
    """Shards ``x``'s leading (batch) axis over the mesh's data axis, if there is one."""
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or DATA_AXIS not in mesh.axis_names:
        return x
    return jax.lax.with_sharding_constraint(x, P(DATA_AXIS))
