from .sampling import Sampler

def sample(s: Sampler) -> dict:
    raise NotImplementedError

def build(p):
    raise NotImplementedError
