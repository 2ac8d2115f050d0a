"""The auxiliary-flow student at demo scale: demo_d3d_student plus a conv flow decoder on mixed_3b whose
end-point error to the clip's stored flow joins the action loss (Stroud et al.'s alternative to D3D)."""
from tfx_models.config import override
from tfx_models.experiments.demo_d3d_student import CONFIG as STUDENT

CONFIG = override(STUDENT, ["name=demo_d3d_aux", "model.kind=d3d_aux", "flow_aux.layer=mixed_3b",
                            "flow_aux.decoder=conv", "flow_aux.weight=1.0"])
