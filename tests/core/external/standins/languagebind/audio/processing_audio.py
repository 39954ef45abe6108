"""Stand-in AudioTransform: the attributes and get_mel the script uses; framed log energy per 'mel bin'."""
import torch


class AudioTransform:
    def __init__(self, args):
        self.sample_rate = args.audio_sample_rate
        self.num_mel_bins = args.num_mel_bins
        self.target_length = args.target_length
        self.audio_mean = args.audio_mean
        self.audio_std = args.audio_std

    def get_mel(self, audio_data):
        audio_data -= audio_data.mean()
        frames = audio_data[0, : (audio_data.shape[1] // 160) * 160].view(-1, 160)
        return torch.log(frames.pow(2).mean(1, keepdim=True) + 1e-6).expand(-1, self.num_mel_bins)  # (T, mel)
