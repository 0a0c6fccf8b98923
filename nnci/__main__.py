from nnci.cli import console

console()
