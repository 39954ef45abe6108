"""Stand-in imagebind.data: a byte tokenizer padded to 77 and a framed log-energy 'mel' of ImageBind's size."""
import torch


def load_and_transform_text(text, device):
    rows = [[min(255, ord(c)) for c in t[:77]] + [0] * (77 - len(t[:77])) for t in text]
    return torch.tensor(rows, dtype=torch.long, device=device)


def waveform2melspec(waveform, sample_rate, num_mel_bins, target_length):
    waveform = waveform - waveform.mean()
    frames = waveform[0, : (waveform.shape[1] // 160) * 160].view(-1, 160)  # 10 ms hops
    energy = torch.log(frames.pow(2).mean(1) + 1e-6)[:target_length]
    energy = torch.nn.functional.pad(energy, (0, target_length - len(energy)))
    return energy.expand(num_mel_bins, target_length).unsqueeze(0)  # (1, mel_bins, target_length)
