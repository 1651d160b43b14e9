"""Seed 001's tutorial as a whole command, the yardstick for bench_seed001_epoch.py: its own
tiny CNN, torchvision's MNIST with ToTensor batched by a DataLoader (64, shuffled), Adam 1e-3,
then the test set scored through a DataLoader and the weights saved, as the tutorial does.

    python tests/benchmarks/_seed001_tutorial.py ROOT OUT.pt [--epochs 1]

ROOT holds torchvision's MNIST/raw files, decompressed (_seed_loop.torchvision_mnist_root).
"""
import argparse

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("out")
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args()
    train = DataLoader(datasets.MNIST(args.root, train=True, transform=transforms.ToTensor()), batch_size=64,
                       shuffle=True)
    test = DataLoader(datasets.MNIST(args.root, train=False, transform=transforms.ToTensor()), batch_size=1000)
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(args.epochs):
        model.train()
        for x, y in train:
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in test:
                correct += (model(x).argmax(1) == y).sum().item()
        print(f"epoch {epoch + 1}: test accuracy {correct / len(test.dataset):.2%}", flush=True)
    torch.save(model.state_dict(), args.out)


if __name__ == "__main__":
    main()
