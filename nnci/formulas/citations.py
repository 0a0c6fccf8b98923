"""Citations shared by several formulas."""

NNCI = (
    "nn-ci plugins for the Green Software Foundation Impact Framework (MIT), "
    "after Drouant et al. 2014, Computer Communications 42:38-46"
)
PATTERSON = "Patterson et al. 2021, Carbon Emissions and Large Neural Network Training, arXiv:2104.10350, §2.5"
IPCC = "IPCC AR5 WGIII (2014) Annex III, Table A.III.2: lifecycle emissions of generation sources"
NNCI_RULE = "nnci: definition"
LLMCARBON = (
    "Faiz et al. 2024, LLMCarbon: Modeling the End-to-End Carbon Footprint of Large Language Models, "
    "ICLR; code SotaroKaneda/MLCarbon (Apache-2.0)"
)
BLOOM = "Luccioni, Viguier, Ligozat 2023, Estimating the Carbon Footprint of BLOOM, JMLR 24(253)"
