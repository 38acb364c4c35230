import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GlmChatCore

// Appearance, language (switched at once), backend, weight format and context length (applied by reloading).
Dialog {
    id: dialog
    title: qsTr("Settings")
    modal: true
    width: 520
    background: Rectangle { color: Theme.background; radius: Theme.radius; border.color: Theme.border }
    footer: DialogButtonBox {
        background: null
        Button { text: qsTr("Close"); flat: true; DialogButtonBox.buttonRole: DialogButtonBox.RejectRole }
    }
    onAboutToShow: {
        const sampling = ChatController.conversationSampling()
        temperature.value = sampling.temperature
        topP.value = sampling.topP
        maxTokens.value = sampling.maxTokens
    }

    GridLayout {
        anchors.fill: parent
        columns: 2
        columnSpacing: 16
        rowSpacing: 10

        Label { text: qsTr("Theme") }
        ComboBox {
            Layout.fillWidth: true
            textRole: "label"
            valueRole: "value"
            model: [{ label: qsTr("Follow the system"), value: "system" }, { label: qsTr("Light"), value: "light" }, { label: qsTr("Dark"), value: "dark" }]
            Component.onCompleted: currentIndex = indexOfValue(ChatController.settings.theme)
            onActivated: ChatController.settings.theme = currentValue
        }

        Label { text: qsTr("Language") }
        ComboBox {
            Layout.fillWidth: true
            textRole: "label"
            valueRole: "value"
            // Language names are written in their own language on purpose.
            model: [{ label: "English", value: "en" }, { label: "简体中文", value: "zh_CN" }]
            Component.onCompleted: currentIndex = Math.max(0, indexOfValue(ChatController.settings.language))
            onActivated: ChatController.setLanguage(currentValue)
        }

        Label { text: qsTr("Backend") }
        ComboBox {
            id: backendChoice
            Layout.fillWidth: true
            textRole: "label"
            valueRole: "value"
            model: [{ label: qsTr("Automatic (best available)"), value: "auto" }, { label: "CUDA", value: "cuda" },
                    { label: "Vulkan", value: "vulkan" }, { label: qsTr("CPU"), value: "cpu" }]
            Component.onCompleted: currentIndex = Math.max(0, indexOfValue(ChatController.settings.backend))
            onActivated: ChatController.settings.backend = currentValue
        }

        Label { text: qsTr("GPU (Vulkan)") }
        ComboBox {
            id: gpuChoice
            objectName: "gpuChoice"
            Layout.fillWidth: true
            textRole: "label"
            valueRole: "value"
            model: ChatController.gpuDevices()
            Component.onCompleted: currentIndex = Math.max(0, indexOfValue(ChatController.settings.gpuDevice))
            onActivated: ChatController.settings.gpuDevice = currentValue
        }

        Label { text: qsTr("Weights") }
        ComboBox {
            id: weightsChoice
            objectName: "weightsChoice"
            Layout.fillWidth: true
            textRole: "label"
            valueRole: "value"
            // Quantized on load (the first time; then cached): less memory, slightly less accurate.
            model: [{ label: qsTr("bf16 (as downloaded)"), value: "bf16" }, { label: qsTr("int8 (half the memory)"), value: "int8" },
                    { label: qsTr("int4 (a third of the memory)"), value: "int4" },
                    { label: qsTr("int4, groups of 128 (smallest)"), value: "int4-g128" }]
            Component.onCompleted: currentIndex = Math.max(0, indexOfValue(ChatController.settings.weights))
            onActivated: ChatController.settings.weights = currentValue
        }

        Label { text: qsTr("KV cache") }
        ComboBox {
            id: kvCacheChoice
            objectName: "kvCacheChoice"
            Layout.fillWidth: true
            textRole: "label"
            valueRole: "value"
            // What the context is kept in: int8 holds twice the tokens in the same memory, a little less exact.
            model: [{ label: qsTr("bf16"), value: "bf16" }, { label: qsTr("int8 (half the memory)"), value: "int8" },
                    { label: qsTr("f32 (CPU only; GPUs keep bf16)"), value: "f32" }]
            Component.onCompleted: currentIndex = Math.max(0, indexOfValue(ChatController.settings.kvCache))
            onActivated: ChatController.settings.kvCache = currentValue
        }

        Label { text: qsTr("Context length") }
        ComboBox {
            id: contextChoice
            Layout.fillWidth: true
            model: [2048, 4096, 8192, 16384, 32768, 65536, 131072]
            displayText: qsTr("%1 tokens").arg(currentValue)
            Component.onCompleted: currentIndex = Math.max(0, indexOfValue(ChatController.settings.contextLength))
            onActivated: ChatController.settings.contextLength = currentValue
        }

        Label {
            Layout.columnSpan: 2
            Layout.fillWidth: true
            wrapMode: Text.Wrap
            color: Theme.mutedText
            text: ChatController.modelState === "ready"
                  ? qsTr("Now: %1 on %2, context %3 tokens. %4").arg(ChatController.modelName).arg(ChatController.backend.toUpperCase()).arg(ChatController.contextLength).arg(ChatController.backendReason)
                  : qsTr("No model loaded.")
        }
        Button {
            Layout.columnSpan: 2
            text: qsTr("Reload the model with these settings")
            enabled: ChatController.settings.modelPath.length > 0 && ChatController.modelState !== "loading"
            onClicked: ChatController.reloadModel()
        }
        Label { Layout.columnSpan: 2; text: qsTr("This conversation"); font.bold: true; topPadding: 8 }
        Label { text: qsTr("Temperature") }
        RowLayout {
            Slider {
                id: temperature
                Layout.fillWidth: true
                from: 0; to: 2; stepSize: 0.05
                onMoved: ChatController.setConversationSampling({ temperature: value })
            }
            Label { text: temperature.value.toFixed(2); Layout.preferredWidth: 40 }
        }
        Label { text: qsTr("Top-p") }
        RowLayout {
            Slider {
                id: topP
                Layout.fillWidth: true
                from: 0.05; to: 1; stepSize: 0.05
                onMoved: ChatController.setConversationSampling({ topP: value })
            }
            Label { text: topP.value.toFixed(2); Layout.preferredWidth: 40 }
        }
        Label { text: qsTr("Longest reply") }
        SpinBox {
            id: maxTokens
            Layout.fillWidth: true
            from: 16; to: 32768; stepSize: 256
            editable: true
            onValueModified: ChatController.setConversationSampling({ maxTokens: value })
        }
        Label {
            Layout.columnSpan: 2
            color: Theme.mutedText
            text: qsTr("Shortcuts: Ctrl+N new chat · Ctrl+F search · Ctrl+, settings · Esc stop · Ctrl+Shift+P system prompts")
            wrapMode: Text.Wrap
            Layout.fillWidth: true
        }
    }
}
