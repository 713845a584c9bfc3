"""PyTorch adapter: nn.Modules per architecture, torch.optim, a plain training loop."""
