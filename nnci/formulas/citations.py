"""Citations shared by several formulas."""

NNCI = (
    "nn-ci plugins for the Green Software Foundation Impact Framework (MIT), "
    "after Drouant et al. 2014, Computer Communications 42:38-46"
)
PATTERSON = "Patterson et al. 2021, Carbon Emissions and Large Neural Network Training, arXiv:2104.10350, §2.5"
IPCC = "IPCC AR5 WGIII (2014) Annex III, Table A.III.2: lifecycle emissions of generation sources"
NNCI_RULE = "nnci: definition"
