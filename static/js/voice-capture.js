// AudioWorklet: the microphone at the context's rate in, 16 kHz mono PCM16 chunks out.
class VoiceCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.targetRate = 16000;
    // Where the next output sample falls, in input samples from the start of this block.
    this.position = 0;
    this.previous = 0;
    this.chunk = new Int16Array(this.targetRate / 10);
    this.filled = 0;
  }

  process(inputs) {
    var channel = inputs[0] && inputs[0][0];
    if (!channel) {
      return true;
    }
    var step = sampleRate / this.targetRate;
    // Linear interpolation between neighbours; index -1 is the last sample of the previous block.
    while (this.position < channel.length) {
      var index = Math.floor(this.position);
      var fraction = this.position - index;
      var before = index === 0 ? this.previous : channel[index - 1];
      var sample = before + (channel[index] - before) * fraction;
      sample = Math.max(-1, Math.min(1, sample));
      this.chunk[this.filled++] = sample < 0 ? sample * 0x8000 : sample * 0x7fff;
      if (this.filled === this.chunk.length) {
        this.port.postMessage(this.chunk.buffer, [this.chunk.buffer]);
        this.chunk = new Int16Array(this.targetRate / 10);
        this.filled = 0;
      }
      this.position += step;
    }
    this.position -= channel.length;
    this.previous = channel[channel.length - 1];
    return true;
  }
}

registerProcessor("voice-capture", VoiceCapture);
